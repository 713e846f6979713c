/* Policy rules over TPM quotes (az-snp-vtpm, az-tdx-vtpm, tpm): expected PCR values per bank and
 * index, the attestation agent's events (AAEL, CoCo: "only these images were pulled") and the
 * Azure runtime claims. The section "tpm" of docs/policy.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_eval.h"
#include "veritee/tpm.h"

static int bank_of(const char *s)
{
    static const struct { const char *n; uint16_t a; } b[] = {
        {"sha1", VT_TPM_ALG_SHA1}, {"sha256", VT_TPM_ALG_SHA256}, {"sha384", VT_TPM_ALG_SHA384},
        {"sha512", VT_TPM_ALG_SHA512}, {"sm3_256", VT_TPM_ALG_SM3_256}};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
        if (strcmp(s, b[i].n) == 0) return b[i].a;
    return -1;
}

/* "pcrs": {"sha256": {"0": ["hex", ...] | {"values","refs"}, ...}, ...} */
static vt_err parse_pcrs(pctx *c, const json_t *j, vt_policy *p)
{
    if (!json_is_object(j)) return pol_fail(c, "tpm.pcrs", "expected {\"<bank>\": {\"<index>\": [hex, ...]}}");
    size_t n = 0;
    const char *bk, *ik;
    const json_t *b, *v;
    json_object_foreach((json_t *)j, bk, b) n += json_is_object(b) ? json_object_size(b) : 0;
    if (n > VT_CLAIMS_PCRS_MAX) return pol_fail(c, "tpm.pcrs", "more than %d PCRs", VT_CLAIMS_PCRS_MAX);
    p->tpm_pcrs = calloc(n ? n : 1, sizeof *p->tpm_pcrs);
    if (p->tpm_pcrs == NULL) return vt_error_set(c->err, VT_E_NOMEM, "policy", "out of memory");
    json_object_foreach((json_t *)j, bk, b) {
        char path[96];
        snprintf(path, sizeof path, "tpm.pcrs.%.16s", bk);
        int bank = bank_of(bk);
        if (bank < 0) return pol_fail(c, path, "unknown PCR bank (sha1, sha256, sha384, sha512, sm3_256)");
        if (!json_is_object(b)) return pol_fail(c, path, "expected {\"<index>\": [hex, ...]}");
        json_object_foreach((json_t *)b, ik, v) {
            char q[128], *end = NULL;
            snprintf(q, sizeof q, "%s.%.8s", path, ik);
            long idx = strtol(ik, &end, 10);
            if (ik[0] < '0' || ik[0] > '9' || *end != '\0' || idx > 23)
                return pol_fail(c, q, "expected a PCR index 0..23");
            vt_policy_pcr *r = &p->tpm_pcrs[p->n_tpm_pcrs];
            r->bank = (uint16_t)bank;
            r->index = (uint8_t)idx;
            /* one hex string is a list of one */
            json_t *one = json_is_string(v) ? json_pack("[O]", v) : NULL;
            vt_err rc = pol_set(c, one ? one : v, q, &r->set);
            json_decref(one);
            p->n_tpm_pcrs++;
            VT_GUARD(rc);
        }
    }
    return VT_OK;
}

static vt_err dup_field(pctx *c, const json_t *o, const char *key, const char *path, char *fixed, size_t cap,
                        char **owned)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL) return VT_OK;
    char q[128];
    snprintf(q, sizeof q, "%s.%s", path, key);
    const char *s = json_string_value(v);
    if (s == NULL || s[0] == '\0') return pol_fail(c, q, "expected a non-empty string");
    if (fixed != NULL) {
        if (strlen(s) >= cap) return pol_fail(c, q, "longer than %zu characters", cap - 1);
        snprintf(fixed, cap, "%s", s);
        return VT_OK;
    }
    if (strlen(s) >= VT_CLAIMS_AAEL_CONTENT_MAX)
        return pol_fail(c, q, "longer than %d characters (no logged event could match)", VT_CLAIMS_AAEL_CONTENT_MAX - 1);
    *owned = strdup(s);
    return *owned ? VT_OK : vt_error_set(c->err, VT_E_NOMEM, "policy", "out of memory");
}

/* "aael": {"allowed": [{"domain", "operation", "content" | "image"}], "require_event_log": bool} */
static vt_err parse_aael(pctx *c, const json_t *j, vt_policy *p)
{
    static const char *const keys[] = {"allowed", "require_event_log", NULL};
    static const char *const ekeys[] = {"domain", "operation", "content", "image", NULL};
    if (!json_is_object(j)) return pol_fail(c, "tpm.aael", "expected {\"allowed\": [...]}");
    VT_GUARD(pol_keys(c, j, "tpm.aael", keys));
    VT_GUARD(pol_bool(c, j, "require_event_log", "tpm.aael", &p->aael_event_log_required));
    const json_t *a = json_object_get(j, "allowed");
    if (a == NULL) return VT_OK;
    if (!json_is_array(a)) return pol_fail(c, "tpm.aael.allowed", "expected an array of events");
    p->has_aael_allowed = true;
    p->aael_allowed = calloc(json_array_size(a) ? json_array_size(a) : 1, sizeof *p->aael_allowed);
    if (p->aael_allowed == NULL) return vt_error_set(c->err, VT_E_NOMEM, "policy", "out of memory");
    size_t i;
    const json_t *o;
    json_array_foreach(a, i, o) {
        char path[64];
        snprintf(path, sizeof path, "tpm.aael.allowed[%zu]", i);
        if (!json_is_object(o)) return pol_fail(c, path, "expected {\"domain\", \"operation\", \"content\"|\"image\"}");
        VT_GUARD(pol_keys(c, o, path, ekeys));
        vt_policy_aael *r = &p->aael_allowed[p->n_aael_allowed++];
        VT_GUARD(dup_field(c, o, "domain", path, r->domain, sizeof r->domain, NULL));
        VT_GUARD(dup_field(c, o, "operation", path, r->operation, sizeof r->operation, NULL));
        VT_GUARD(dup_field(c, o, "content", path, NULL, 0, &r->content));
        VT_GUARD(dup_field(c, o, "image", path, NULL, 0, &r->image));
        if (r->content != NULL && r->image != NULL) return pol_fail(c, path, "give content or image, not both");
    }
    return VT_OK;
}

vt_err pol_parse_tpm(pctx *c, const json_t *root, vt_policy *p)
{
    p->tpm_secure_boot = -1;
    const json_t *s = json_object_get(root, "tpm");
    if (s == NULL) return VT_OK;
    static const char *const keys[] = {"pcrs", "aael", "secure_boot", NULL};
    VT_GUARD(pol_keys(c, s, "tpm", keys));
    if (json_object_get(s, "pcrs") != NULL) VT_GUARD(parse_pcrs(c, json_object_get(s, "pcrs"), p));
    if (json_object_get(s, "aael") != NULL) VT_GUARD(parse_aael(c, json_object_get(s, "aael"), p));
    const json_t *sb = json_object_get(s, "secure_boot");
    if (sb != NULL) {
        if (!json_is_boolean(sb)) return pol_fail(c, "tpm.secure_boot", "expected true or false");
        p->tpm_secure_boot = json_is_true(sb);
    }
    return VT_OK;
}

void pol_free_tpm(vt_policy *p)
{
    for (size_t i = 0; i < p->n_tpm_pcrs; i++) free(p->tpm_pcrs[i].set.values);
    free(p->tpm_pcrs);
    for (size_t i = 0; i < p->n_aael_allowed; i++) {
        free(p->aael_allowed[i].content);
        free(p->aael_allowed[i].image);
    }
    free(p->aael_allowed);
}

/* ---- evaluation -------------------------------------------------------------------------- */

static void pcr_rules(ev *e)
{
    for (size_t i = 0; i < e->p->n_tpm_pcrs; i++) {
        const vt_policy_pcr *r = &e->p->tpm_pcrs[i];
        char name[48], claim_name[32];
        snprintf(name, sizeof name, "pcr.%s.%u", vt_tpm_alg_name(r->bank), r->index);
        snprintf(claim_name, sizeof claim_name, "pcr%02u", r->index);
        const vt_claims_pcr *q = vt_claims_pcr_get(e->c, r->bank, r->index);
        /* PCR 8 holds CoCo's init-data: configuration; the others boot and runtime code */
        int claim = r->index == 8 ? VT_AR4SI_CONFIGURATION : VT_AR4SI_EXECUTABLES;
        if (q == NULL) {
            ev_add(e, name, VT_CHECK_FAIL, claim, VT_AR4SI_CONTRAINDICATED, "%s PCR %u was not quoted",
                   vt_tpm_alg_name(r->bank), r->index);
            continue;
        }
        char which[200] = "", h[40];
        bool ok = ev_set_match(e, &r->set, claim_name, q->value, q->len, which, sizeof which);
        ev_hex(q->value, q->len < 16 ? q->len : 16, h, sizeof h);
        ev_rule(e, name, ok, claim, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED, "%s PCR %u %s... %s%s",
                vt_tpm_alg_name(r->bank), r->index, h, ok ? "matches " : "is not an expected value", ok ? which : "");
    }
}

/* The content's JSON "image" member, compared as text (no JSON library needed for one string). */
static bool image_is(const char *content, const char *image)
{
    json_error_t je;
    json_t *j = json_loads(content, JSON_REJECT_DUPLICATES, &je);
    const char *s = json_string_value(json_object_get(j, "image"));
    bool ok = s != NULL && strcmp(s, image) == 0;
    json_decref(j);
    return ok;
}

static bool aael_allowed(const vt_policy *p, const vt_claims_event *x)
{
    if (x->aael_truncated) return false;
    for (size_t i = 0; i < p->n_aael_allowed; i++) {
        const vt_policy_aael *r = &p->aael_allowed[i];
        if (r->domain[0] && strcmp(r->domain, x->domain) != 0) continue;
        if (r->operation[0] && strcmp(r->operation, x->operation) != 0) continue;
        if (r->content != NULL && strcmp(r->content, x->content) != 0) continue;
        if (r->image != NULL && !image_is(x->content, r->image)) continue;
        return true;
    }
    return false;
}

static void aael_rules(ev *e)
{
    const vt_policy *p = e->p;
    const vt_claims_tpm *t = &e->c->tpm;
    if (!p->has_aael_allowed && !p->aael_event_log_required) return;
    if (!t->has_event_log) {
        bool need = p->aael_event_log_required;
        ev_add(e, "aael_events", need ? VT_CHECK_FAIL : VT_CHECK_PASS, VT_AR4SI_EXECUTABLES,
               need ? VT_AR4SI_CONTRAINDICATED : VT_AR4SI_AFFIRMING,
               need ? "no event log came with the evidence (tpm.aael.require_event_log)"
                    : "no event log: the attestation agent logged no events");
        return;
    }
    if (t->events_truncated) {
        ev_add(e, "aael_events", VT_CHECK_FAIL, VT_AR4SI_EXECUTABLES, VT_AR4SI_CONTRAINDICATED,
               "the event log has more than %d records: not every event can be shown allowed", VT_CLAIMS_EVENTS_MAX);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < t->n_events; i++) {
        const vt_claims_event *x = &t->events[i];
        if (!x->aael) continue;
        n++;
        if (p->has_aael_allowed && !aael_allowed(p, x)) {
            ev_add(e, "aael_events", VT_CHECK_FAIL, VT_AR4SI_EXECUTABLES, VT_AR4SI_CONTRAINDICATED,
                   "event %u (PCR %u) '%.48s %.32s %.100s' is not in tpm.aael.allowed", x->index, x->pcr, x->domain,
                   x->operation, x->content);
            return;
        }
    }
    ev_add(e, "aael_events", VT_CHECK_PASS, VT_AR4SI_EXECUTABLES, VT_AR4SI_AFFIRMING,
           "%zu attestation-agent event%s, all allowed", n, n == 1 ? "" : "s");
}

void ev_tpm_rules(ev *e)
{
    const vt_policy *p = e->p;
    bool any = p->n_tpm_pcrs > 0 || p->has_aael_allowed || p->aael_event_log_required || p->tpm_secure_boot >= 0;
    if (!any) return;
    if (!e->c->tpm.present) {
        ev_add(e, "tpm", VT_CHECK_SKIP, -1, 0, "%s evidence carries no TPM quote", vt_tee_name(e->c->tee));
        return;
    }
    pcr_rules(e);
    aael_rules(e);
    if (p->tpm_secure_boot >= 0) {
        int have = e->c->tpm.has_runtime_claims ? e->c->tpm.secure_boot : -1;
        ev_rule(e, "secure_boot", have == p->tpm_secure_boot, VT_AR4SI_CONFIGURATION, VT_AR4SI_AFFIRMING,
                VT_AR4SI_CONTRAINDICATED, "Secure Boot %s (policy: %s)",
                have < 0 ? "not reported" : have ? "on" : "off", p->tpm_secure_boot ? "on" : "off");
    }
}
